"""The networks the backends train: LeNet-5 the course's two ways (TensorFlow-1 graph style and
Keras), the Keras variants, and the MLP baseline.

LeNet-5's layers are read from cnnviz.lenet.LENET5 (conv 6@5x5 same + ReLU -> max pool 2x2/2 ->
conv 16@5x5 valid + ReLU -> max pool 2x2/2 -> flatten -> dense 120 ReLU -> dense 84 ReLU -> dense
10 softmax), he_normal kernels, zero biases. KERAS_BUILDERS maps config.MODELS' Keras names to
builders. TensorFlow is imported inside each function, so importing this module stays cheap.
"""

from cnnviz.lenet import CONV_LAYERS, DENSE_LAYERS, OUTPUT_LAYER, POOL_KERNEL, POOL_STRIDE


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


def _keras_network(X, *, dropout: float = 0.0, batch_norm: bool = False, learning_rate=0.001):
    """A compiled Keras LeNet-5 on X; optional dropout after the hidden dense layers and batch norm
    between every conv/dense layer and its ReLU."""
    import keras
    from keras import layers

    def hidden(A, name, layer_class, *args, **kwargs):
        """layer_class(*args) + ReLU on A, with he_normal(seed=0) kernels and optional batch norm."""
        kwargs["kernel_initializer"] = keras.initializers.HeNormal(seed=0)
        if not batch_norm:
            return layer_class(*args, activation="relu", name=name, **kwargs)(A)
        Z = layers.BatchNormalization(name=f"{name}_bn")(layer_class(*args, name=name, **kwargs)(A))
        return layers.ReLU(name=f"{name}_relu")(Z)

    # every layer named: automatic names come from Keras' global name counters, and on the training
    # page's worker threads a model was once given one name twice ("conv2d" used 2 times)
    A = X
    for index, layer in enumerate(CONV_LAYERS, start=1):
        A = hidden(A, layer.name, layers.Conv2D, layer.size, layer.kernel, padding=layer.padding)
        A = layers.MaxPooling2D(POOL_KERNEL, strides=POOL_STRIDE, name=f"pool{index}")(A)
    A = layers.Flatten(name="flatten")(A)
    for layer in DENSE_LAYERS:
        A = hidden(A, layer.name, layers.Dense, layer.size)
        if dropout:
            A = layers.Dropout(dropout, name=f"{layer.name}_dropout")(A)
    Y = layers.Dense(OUTPUT_LAYER.size, activation="softmax", name=OUTPUT_LAYER.name,
                     kernel_initializer=keras.initializers.HeNormal(seed=0))(A)
    return _compiled(keras.Model(X, Y, name="lenet5"), learning_rate)


def _compiled(model, learning_rate):
    import keras

    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def lenet5_keras(X, learning_rate=0.001):
    """LeNet-5 as a Keras model on X = keras.Input((28, 28, 1)); compiled with Adam, categorical
    cross-entropy and accuracy; he_normal(seed=0) kernels; 61,706 parameters."""
    return _keras_network(X, learning_rate=learning_rate)


def lenet5_dropout_keras(X, learning_rate=0.001):
    """LeNet-5 with dropout 0.5 after each hidden dense layer (the course's regularised variant)."""
    return _keras_network(X, dropout=0.5, learning_rate=learning_rate)


def lenet5_batchnorm_keras(X, learning_rate=0.001):
    """LeNet-5 with batch normalisation between every conv/dense layer and its ReLU."""
    return _keras_network(X, batch_norm=True, learning_rate=learning_rate)


def mlp_keras(X, learning_rate=0.001):
    """Baseline without convolutions: flatten 784 -> dense 128 ReLU -> 64 ReLU -> 10 softmax."""
    import keras
    from keras import layers

    A = layers.Flatten(name="flatten")(X)
    for name, units, activation in (("fc1", 128, "relu"), ("fc2", 64, "relu"), ("out", 10, "softmax")):
        kernel_initializer = keras.initializers.HeNormal(seed=0)
        A = layers.Dense(units, activation=activation, kernel_initializer=kernel_initializer,
                         name=name)(A)
    return _compiled(keras.Model(X, A, name="mlp"), learning_rate)


KERAS_BUILDERS = {
    "lenet5": lenet5_keras,
    "lenet5-dropout": lenet5_dropout_keras,
    "lenet5-batchnorm": lenet5_batchnorm_keras,
    "mlp": mlp_keras,
}
"""Keras builders by config.MODELS name: name -> function(X, learning_rate) -> compiled keras.Model."""
