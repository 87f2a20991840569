"""Demo and test support, not product: a sample application for any industry, stand-in department systems, the
simulated reviewers of `onelicense demo`, and its timeline."""
