"""`Conv2D` and `MaxPooling2D` without Keras 3.15's extra copies on PyTorch.

On the PyTorch backend, Keras 3.15 hands every channels-last input of a
convolution or a pooling to PyTorch as a fresh, standard-contiguous NCHW
copy, and a convolution then copies it once more into PyTorch's
`channels_last` memory format: two copies of every activation per call,
and their gradients (keras-team/keras#23279; fixed by #23199, not in a
release yet). Yet an NHWC tensor permuted to NCHW already *is* an NCHW
tensor in `channels_last` memory, which PyTorch's convolution and pooling
take as it is. These layers pass that view, for the cases the package's
networks use (2-D; convolutions with "same" padding at stride 1 and odd
kernels, or "valid" padding; "valid" pooling), and call Keras's own op in
every other case and on every other backend.

They are Keras's layers otherwise: the same weights, config and maths, and
the same memory layout inside PyTorch's kernels, so the same numbers.
Measured on this project's 2-core CPU: README, "Speed". Remove them once a
Keras release carries the fix.
"""

import keras

BACKEND = keras.backend.backend()


def _fast_on_torch(layer, inputs):
    """Whether `layer` can take the copy-free path on `inputs`: a real 4-D
    torch tensor in the channels-last data format."""
    return (
        BACKEND == "torch"
        and layer.data_format == "channels_last"
        and inputs.ndim == 4
        and inputs.device.type != "meta"
    )


@keras.saving.register_keras_serializable(package="savae_keras")
class Conv2D(keras.layers.Conv2D):
    """`keras.layers.Conv2D`, without the extra input copies on PyTorch."""

    def _copy_free(self, inputs):
        return _fast_on_torch(self, inputs) and (
            self.padding == "valid"
            or (
                self.padding == "same"
                and all(s == 1 for s in self.strides)
                and all(k % 2 == 1 for k in self.kernel_size)
            )
        )

    def convolution_op(self, inputs, kernel):
        inputs = keras.ops.convert_to_tensor(inputs)
        if not self._copy_free(inputs):
            return super().convolution_op(inputs, kernel)
        import torch

        kernel = keras.ops.convert_to_tensor(kernel, dtype=inputs.dtype)
        # (kh, kw, in, out) -> (out, in, kh, kw) in channels_last memory, as
        # Keras does; the input's permuted view is in that memory already.
        # Except half precision on a CPU: PyTorch's CPU kernel for float16, and
        # for bfloat16 on CPUs without native bfloat16 support (`slow_conv2d`),
        # refuses a channels_last weight's gradient ("grad_weight must be
        # contiguous"), so the kernel goes in standard memory there.
        half = kernel.dtype in (torch.float16, torch.bfloat16)
        kernel = kernel.permute(3, 2, 0, 1).contiguous(
            memory_format=torch.contiguous_format
            if half and kernel.device.type == "cpu"
            else torch.channels_last
        )
        outputs = torch.nn.functional.conv2d(
            inputs.permute(0, 3, 1, 2),
            kernel,
            stride=tuple(self.strides),
            padding=self.padding,
            dilation=tuple(self.dilation_rate),
            groups=self.groups,
        )
        return outputs.permute(0, 2, 3, 1)


@keras.saving.register_keras_serializable(package="savae_keras")
class MaxPooling2D(keras.layers.MaxPooling2D):
    """`keras.layers.MaxPooling2D`, without the extra input copy on PyTorch."""

    def call(self, inputs):
        inputs = keras.ops.convert_to_tensor(inputs)
        if not (_fast_on_torch(self, inputs) and self.padding == "valid"):
            return super().call(inputs)
        import torch

        outputs = torch.nn.functional.max_pool2d(
            inputs.permute(0, 3, 1, 2),
            kernel_size=tuple(self.pool_size),
            stride=tuple(self.strides),
        )
        return outputs.permute(0, 2, 3, 1)
