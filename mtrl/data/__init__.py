"""Data sources, the prepared-data file and training subsets (numpy/scipy/h5py only; no Keras)."""
