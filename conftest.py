pytest_plugins = ["fixtures.options", "fixtures.pairs", "fixtures.evaluation", "fixtures.xdist", "fixtures.reporting",
                  "fixtures.snapshots", "pytester"]
