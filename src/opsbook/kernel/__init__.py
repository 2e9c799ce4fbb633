"""The opsbook shell kernel: a Jupyter kernel that runs each step in a fresh bash.

Importing this package does nothing; `python -m opsbook.kernel -f CONNECTION_FILE` starts
the kernel and `opsbook.kernel.install.ensure_kernelspec()` makes it known to Jupyter.
`protocol` is the contract the runner (`opsbook.run.session`) imports too: the kernel name,
the environment variables it reads and the keys of its replies.
"""
