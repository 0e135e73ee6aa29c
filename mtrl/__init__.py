"""mtrl: when does multi-task deep learning help? A Snakemake study of multi-task MLPs."""

__version__ = "0.1.0"
