"""Models the Draw page reads a digit with: the shipped LeNet-5 and a student's uploaded Keras model."""
