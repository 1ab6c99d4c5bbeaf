"""droplab's empirical package (torch): the DRoP pipeline on real data. Placeholder until issue 5."""
