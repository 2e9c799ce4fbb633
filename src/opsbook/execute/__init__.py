"""Running runbooks: kernel session, runner, and the events they emit."""
