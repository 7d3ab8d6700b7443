"""The course's task 4: `lenet5(x, y)`, LeNet-5 in TensorFlow-1 graph style, the reference the TF1
backend trains and the checker grades a student's task 4 against.

The layers are cnnviz.nn.lenet's (conv 6@5x5 same + ReLU -> max pool 2x2/2 -> conv 16@5x5 valid +
ReLU -> max pool 2x2/2 -> flatten -> dense 120 ReLU -> dense 84 ReLU -> dense 10 softmax),
he_normal kernels, zero biases. A module of its own because task 5's Keras reference has the
same name (course_keras.lenet5); TensorFlow is imported inside the function, so importing this
module stays cheap.
"""

from cnnviz.nn.lenet import CONV_LAYERS, DENSE_LAYERS, OUTPUT_LAYER, POOL_KERNEL, POOL_STRIDE


def lenet5(x, y, learning_rate=0.001):
    """LeNet-5 in TF1 graph style, built in x's graph from tf.nn ops and variables.

    x: placeholder (m, 28, 28, 1) float32; y: one-hot placeholder (m, 10). Variables are named like
    cnnviz.lenet's parameters (conv1_W (5, 5, 1, 6), conv1_b (1, 1, 1, 6), ...), initialised with
    VarianceScaling(scale=2.0) (he_normal) and zeros. learning_rate: Adam's (the course's call
    leaves Adam's default, 0.001). Returns (softmax output (m, 10), Adam train op, mean
    cross-entropy loss, accuracy).
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
