"""Statistics of the study, as pure functions over pandas tables (scipy.stats and statsmodels; no Keras).

- :mod:`mtrl.stats.intervals`: means with t intervals and paired differences over seeds;
- :mod:`mtrl.stats.multiplicity`: p-values adjusted for multiple comparisons, what is detectable;
- :mod:`mtrl.stats.pairing`: multi-task runs paired with their single-task partner;
- :mod:`mtrl.stats.gains`: multi-task gains on the target, the trivial baseline, relative improvements;
- :mod:`mtrl.stats.interactions`: how the gain depends on coupling and sharing;
- :mod:`mtrl.stats.hypotheses`: the confirmatory hypotheses declared in the config, their replicate values;
- :mod:`mtrl.stats.grid_model`: one mixed model of the whole grid (size slope, coupling x sharing);
- :mod:`mtrl.stats.confirmatory`: per hypothesis estimate, interval, adjusted p, equivalence, power, verdict;
- :mod:`mtrl.stats.power`: minimum detectable effects and the replicates needed for an effect;
- :mod:`mtrl.stats.exclusions`: the (task, size) cells the study plan leaves out of every statistic.

Import from the module that holds a function (e.g. ``from mtrl.stats.intervals import
mean_interval``): this package imports none of them, so that a light caller (the config check of
the hypotheses) pays only for what it uses.
"""
