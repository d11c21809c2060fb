"""Platform write clients for budget actions: change a daily budget, pause an ad set / ad group."""
