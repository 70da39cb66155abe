def pytest_configure(config):
    config.addinivalue_line("markers", "slow: runs `bsp-lightning study --quick` end to end (minutes on 2 cores)")
