"""The generators of the blind prediction files, one module per frozen file under ``data/predictions/``.

Each module holds the specs of its file, the function that computed its table, and its :class:`PredictionSet`
(``PREDICTION_SET``: the file, its SHA-256 as committed, the model commit it was computed at, the papers it
predicts, the generator); what they share is in ``rows`` (a relative performance over seeds with its 95% interval)
and ``prediction_set``.

===========================================  ==============================  =========================================
file                                         module                          before the house was reordered
===========================================  ==============================  =========================================
``predictions.csv``                          ``testbed_2003``                ``kit.papers.predict_2003_testbed``
``predictions-2015-2016.csv``                ``apps_2015_2016``              ``kit.papers.predictions_2015``
``predictions-clark-2005-migration.csv``     ``clark_2005_migration``        ``kit.papers.predictions_beyond``
``predictions-turtles-2010-nested.csv``      ``turtles_2010_nested``         ``kit.papers.predictions_beyond``
``predictions-felter-2015-docker.csv``       ``felter_2015_docker``          ``kit.papers.predictions_beyond``
``predictions-consolidation-2003-2007.csv``  ``consolidation_2003_2007``     ``kit.papers.predictions_consolidation``
``predictions-heldout-*.csv`` (five files)   ``heldout_2026``                ``kit.papers.predictions.heldout_2026``
``predictions-firecracker-2020.csv``         ``firecracker_2020``            (new with the sixth set)
``predictions-le-2009-driver-recovery.csv``  ``le_2009_driver_recovery``     (new with the sixth set)
===========================================  ==============================  =========================================

The descriptions in ``data/predictions/`` (never edited once written) name the modules as they were then.

A new set: a new module here with its specs, its generator and ``PREDICTION_SET = PredictionSet(...)`` (its
``sha256`` the digest of the file as committed, before anything is compared with it), and one line adding that set
to :data:`kit.papers.blind.BLIND_FILES`. The digest is written there and nowhere else in the kit (the tests keep
their own copy, taken from ``git show COMMIT:FILE | sha256sum``). Running a generator makes a new table, never a
new version of a committed file.
"""
