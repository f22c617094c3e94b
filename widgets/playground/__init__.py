"""The Playground: TensorFlow Playground's experiments on a real PyTorch model.

The plain parts (problems, input features, the network, the configuration and
the code export) load without ipywidgets; the widget is `widgets.Playground`.
"""
