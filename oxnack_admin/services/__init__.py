"""Business rules. Routes, the console and the jobs all call these; none of them holds rules."""
