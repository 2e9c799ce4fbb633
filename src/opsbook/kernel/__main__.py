"""Start the opsbook shell kernel: `python -m opsbook.kernel -f CONNECTION_FILE`."""

from __future__ import annotations


def main() -> None:
    import signal

    # Threads started while the kernel sets up (zmq, IOPub, control, heartbeat) inherit a
    # blocked SIGINT, so an interrupt always lands in the main thread, where it can wake the
    # running step at once. OpsbookKernel unblocks it there.
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})

    from ipykernel.kernelapp import IPKernelApp

    from opsbook.kernel.kernel import OpsbookKernel

    # outstream_class=None: the kernel's own prints and logs go to its real stderr, never
    # into a step's output.
    IPKernelApp.launch_instance(kernel_class=OpsbookKernel, outstream_class=None)


if __name__ == "__main__":
    main()
