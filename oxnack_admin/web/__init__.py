"""The HTTP layer under the blueprints: what they build on, the app's hooks, and the WSGI layers in front of Flask."""
