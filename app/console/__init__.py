"""The web console (工作台): server-rendered pages over the domain modules, at ``/``."""
