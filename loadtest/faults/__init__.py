"""The fault run: load loadlevel while its consumer, broker and Redis fail, then check that nothing was lost."""
