"""Who may do what to which rows: the actor, the one door to protected rows, stored policies, usage budgets."""
