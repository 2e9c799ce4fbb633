"""Start the opsbook shell kernel: `python -m opsbook.kernel -f CONNECTION_FILE`."""

from __future__ import annotations


def main() -> None:
    from ipykernel.kernelapp import IPKernelApp

    from opsbook.kernel.kernel import OpsbookKernel

    # outstream_class=None: the kernel's own prints and logs go to its real stderr, never
    # into a step's output.
    IPKernelApp.launch_instance(kernel_class=OpsbookKernel, outstream_class=None)


if __name__ == "__main__":
    main()
