"""The learner's track: write every derivative the VAE needs, in the lecture's order, checked as you go.

    python -m scratchvae.exercises start          # copy the stubs into ./scratchvae_exercises (yours to edit)
    python -m scratchvae.exercises list           # the track and your status on each exercise
    python -m scratchvae.exercises check 1        # check one exercise (or `check all`)

In a notebook:  from scratchvae.exercises import check;  check(6, gaussian_kl)   (notebook.py)

    track      the exercises: file, the notebook section deriving it, the library's version, what it teaches
    checks     what each is checked for: the gradient check and known values (facts.py)
    vae        exercise 9: your pieces re-checked, assembled into a VAE, checked whole, trained on MNIST
    runner     importing your file by its path and reporting what came of it
    calls      how a check calls your code: copies of its arrays, twice, beside the reference answer
    notebook   check(exercise, *answers): the same check on functions defined in a notebook
    isolate    running your files in a child process, so that even os._exit cannot pass for a pass
    stubs/     the files you start from (copied, never edited in place)
    solutions/ reference answers (`check --solutions`); read one only after trying
"""


def check(exercise, *answers, **options):
    """check(6, gaussian_kl): check your answers to an exercise in this kernel, print the report, return the
    Result. The whole story: scratchvae/exercises/notebook.py (imported on first use)."""
    from .notebook import check as check_here
    return check_here(exercise, *answers, **options)
