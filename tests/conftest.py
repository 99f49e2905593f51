pytest_plugins = ["tests.sshd_fixtures"]
