"""BatchNorm over the global batch, on one device or several."""

import keras
from keras import layers

from savae_keras.distribution import replica_position


@keras.saving.register_keras_serializable(package="savae_keras")
class BatchNormalization(layers.BatchNormalization):
    """`keras.layers.BatchNormalization` whose batch is the global batch.

    On one device it is Keras's layer. Under a TensorFlow strategy of
    several replicas it computes the batch statistics over all replicas'
    samples (Keras's `synchronized=True`), as one device would over the
    whole batch; JAX's `DataParallel` already does so on its sharded array.
    Its config does not record `synchronized` (decided when the layer runs),
    so a saved network loads on every backend.
    """

    def __init__(self, **kwargs):
        kwargs.pop("synchronized", None)
        super().__init__(**kwargs)

    def call(self, inputs, training=None, mask=None):
        # Read while tracing: inside a replica context, or not.
        self.synchronized = replica_position()[0] > 1
        return super().call(inputs, training=training, mask=mask)

    def get_config(self):
        config = super().get_config()
        config.pop("synchronized", None)
        return config
