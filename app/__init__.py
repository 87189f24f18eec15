"""Running the service: settings, bootstrap, the HTTP app and its middleware, auth, the Lambda handlers."""
