import TwinDaemon
print("twinrender")
