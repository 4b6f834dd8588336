"""``grimoire.optim``: optimisation (primer 2.3.1 gradient descent; 6 optimizers and schedules)."""
