"""Start the opsbook shell kernel: `python -m opsbook.kernel -f CONNECTION_FILE`."""

from __future__ import annotations

from typing import Any


def main() -> None:
    import signal

    # Threads started while the kernel sets up (zmq, IOPub, control, heartbeat) inherit a
    # blocked SIGINT, so an interrupt always lands in the main thread, where it can wake the
    # running step at once. OpsbookKernel unblocks it there.
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})

    from ipykernel import kernelapp
    from ipykernel.iostream import IOPubThread

    from opsbook.kernel.kernel import OpsbookKernel

    class IOPubWithoutPipe(IOPubThread):  # type: ignore[misc]
        """IOPub without its pipe for the output of forked Python processes: that pipe is a TCP port
        on loopback, open to every local user, and steps are bash processes whose output the kernel
        reads itself."""

        def __init__(self, socket: Any, pipe: bool = False, **kwargs: Any) -> None:
            super().__init__(socket, pipe=False, **kwargs)

    class OpsbookKernelApp(kernelapp.IPKernelApp):  # type: ignore[misc]
        def init_iopub(self, context: Any) -> None:
            original = kernelapp.IOPubThread
            setattr(kernelapp, "IOPubThread", IOPubWithoutPipe)  # what init_iopub builds
            try:
                super().init_iopub(context)
            finally:
                setattr(kernelapp, "IOPubThread", original)

    # outstream_class=None: the kernel's own prints and logs go to its real stderr, never
    # into a step's output.
    OpsbookKernelApp.launch_instance(kernel_class=OpsbookKernel, outstream_class=None)


if __name__ == "__main__":
    main()
