pytest_plugins = ["fixtures.options", "fixtures.pairs", "fixtures.evaluation", "fixtures.reporting",
                  "fixtures.snapshots", "pytester"]
