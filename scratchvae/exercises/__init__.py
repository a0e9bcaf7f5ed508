"""The learner's track: write every derivative the VAE needs, in the lecture's order, checked as you go.

    python -m scratchvae.exercises start          # copy the stubs into ./scratchvae_exercises (yours to edit)
    python -m scratchvae.exercises list           # the track and your status on each exercise
    python -m scratchvae.exercises check 1        # check one exercise (or `check all`)
    python -m scratchvae.exercises grade DIR --out grades.csv    # a teacher: grade a folder of workspaces

In a notebook:  from scratchvae.exercises import check;  check(6, gaussian_kl)   (notebook.py)

    track      the exercises: file, the notebook section deriving it, the library's version, what it teaches
    checks/    what each is checked for: the gradient check and known values (facts.py), a file per exercise
    vae        exercise 9: your pieces re-checked, assembled into a VAE, checked whole, trained on MNIST
    runner     importing your file by its path and reporting what came of it
    calls      how a check calls your code: copies of its arrays, twice, beside the reference answer
    notebook   check(exercise, *answers): the same check on functions defined in a notebook
    isolate    your files run in a child process, limited; the verdict is computed here, outside it
    staging    the copy of your workspace the child runs in: read into memory, written out, removed
    launch     what the child may use (Limits) and how it is started: command line, environment
    session    one child from start to end: the calls, the answers, the state of your instances
    remote     the stand-ins the checks call instead of your functions, classes and instances
    child      the process that imports your file and computes (and decides nothing)
    wire       what travels between them: plain data (JSON and .npy), never pickle
    seccomp    the child's system-call filter: no new process, no signal to another (Linux)
    landlock   what the child may open: its own copy to write, the libraries to read (Linux 5.13 and later)
    grade      a whole class: a CSV of grades and a feedback file per student
    stubs/     the files you start from (copied, never edited in place)
    solutions/ reference answers (`check --solutions`); read one only after trying
"""


def check(exercise, *answers, **options):
    """check(6, gaussian_kl): check your answers to an exercise in this kernel, print the report, return the
    Result. The whole story: scratchvae/exercises/notebook.py (imported on first use)."""
    from .notebook import check as check_here
    return check_here(exercise, *answers, **options)
