"""The networks the backends train: LeNet-5 in TensorFlow-1 graph style, and the Keras models
(LeNet-5, its dropout and batch-norm variants, the MLP baseline).

LeNet-5's layers are read from cnnviz.lenet.LENET5 (conv 6@5x5 same + ReLU -> max pool 2x2/2 ->
conv 16@5x5 valid + ReLU -> max pool 2x2/2 -> flatten -> dense 120 ReLU -> dense 84 ReLU -> dense
10 softmax), he_normal kernels, zero biases; the Keras models are cnnviz.networks'
TRAINING_NETWORKS, which follow the same LENET5. TensorFlow is imported inside each function, so
importing this module stays cheap.
"""

from cnnviz.nn.lenet import CONV_LAYERS, DENSE_LAYERS, OUTPUT_LAYER, POOL_KERNEL, POOL_STRIDE


def lenet5_tf1(x, y, learning_rate=0.001):
    """LeNet-5 in TF1 graph style, built in x's graph from tf.nn ops and variables.

    x: placeholder (m, 28, 28, 1) float32; y: one-hot placeholder (m, 10). Variables are named like
    cnnviz.lenet's parameters (conv1_W (5, 5, 1, 6), conv1_b (1, 1, 1, 6), ...), initialised with
    VarianceScaling(scale=2.0) (he_normal) and zeros. Returns (softmax output (m, 10), Adam train op,
    mean cross-entropy loss, accuracy).
    """
    import tensorflow as tf

    v1 = tf.compat.v1
    he_normal = tf.keras.initializers.VarianceScaling(scale=2.0)

    def weights(name, shape):
        return v1.get_variable(f"{name}_W", shape, tf.float32, initializer=he_normal)

    def bias(name, shape):
        return v1.get_variable(f"{name}_b", shape, tf.float32, initializer=v1.zeros_initializer())

    with x.graph.as_default():
        A = x
        for layer in CONV_LAYERS:
            W = weights(layer.name, (layer.kernel, layer.kernel, A.shape[-1], layer.size))
            Z = tf.nn.conv2d(A, W, strides=1, padding=layer.padding.upper())
            Z = Z + bias(layer.name, (1, 1, 1, layer.size))
            A = tf.nn.max_pool2d(tf.nn.relu(Z), ksize=POOL_KERNEL, strides=POOL_STRIDE,
                                 padding="VALID")
        A = tf.reshape(A, (-1, A.shape[1] * A.shape[2] * A.shape[3]))  # (m, 400), like Flatten
        for layer in (*DENSE_LAYERS, OUTPUT_LAYER):
            Z = tf.matmul(A, weights(layer.name, (A.shape[-1], layer.size)))
            Z = Z + bias(layer.name, (layer.size,))
            A = Z if layer is OUTPUT_LAYER else tf.nn.relu(Z)
        y_pred = tf.nn.softmax(A)
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=A))
        train_op = v1.train.AdamOptimizer(learning_rate).minimize(loss)
        correct = tf.equal(tf.argmax(y_pred, axis=1), tf.argmax(y, axis=1))
        accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
    return y_pred, train_op, loss, accuracy


def keras_model(name: str, learning_rate: float = 0.001):
    """The compiled Keras model config.MODELS calls `name` (lenet5, lenet5-dropout,
    lenet5-batchnorm, mlp): cnnviz.networks.TRAINING_NETWORKS[name] built by
    cnnviz.architectures.to_keras, with he_normal(seed=0) kernels and every layer named."""
    from cnnviz.networks.architectures import to_keras
    from cnnviz.networks.presets import TRAINING_NETWORKS

    return to_keras(TRAINING_NETWORKS[name], learning_rate, seed=0)
