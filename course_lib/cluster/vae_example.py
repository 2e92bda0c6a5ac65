"""``python -m course_lib.cluster.vae_example --output DIR``: a small VAE on several workers.

See :mod:`course_lib.cluster._vae_training`. Run it as N local workers with
``python -m course_lib.cluster --workers N -- -m course_lib.cluster.vae_example --output DIR``.
"""

from course_lib.cluster._vae_training import main

if __name__ == "__main__":
    main()
