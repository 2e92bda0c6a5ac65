"""course_lib: the companion package of the course 机器学习与图像生成.

Importing it imports TensorFlow quietly (see ``course_lib._quiet``) so that notebook outputs
carry no start-up log noise. Subpackages hold one part of the book each:
``supervised``, ``trees``, ``unsupervised``, ``semi_supervised``, ``generative``, ``metrics``;
``config`` holds profiles, budgets, seeding and device set-up; ``datasets`` the data loaders;
``viz`` the plotting helpers.
"""

from course_lib._quiet import quiet_tensorflow

quiet_tensorflow()

__version__ = "0.1.0"
__all__ = ["__version__"]
