print("xsoar-sim")
