"""The submit panel. ``controller`` (state and decisions, no Qt), ``services`` (the core calls it
makes, injectable), ``settings`` (per-user memory), and the Qt side: ``panel``, ``widgets``,
``workers``. Nothing in the core imports this package."""
