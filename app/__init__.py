"""Running the service: settings, bootstrap, HTTP app, auth, embedded backend, command line."""
