"""The parts that have a forward and a backward: layers, activations, dropout, losses, the KL, the
reparameterization, and the optimizers that consume their gradients."""
