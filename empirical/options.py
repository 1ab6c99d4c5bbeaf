"""The choices the pipeline accepts, in one torch-free module.

The ``droplab`` command line builds its parser from these without importing torch, so
``droplab theory`` and ``droplab --help`` stay fast; the modules that implement each choice import
their names from here.
"""

DATASETS = ("cifar10", "cifar100", "imagefolder", "gaussian")
FORMATS = ("auto", "pickle", "imagefolder", "jpeg-index")
IMAGE_MODELS = ("resnet18", "vgg16", "vgg19", "smallcnn")
MODELS = IMAGE_MODELS + ("mlp", "linear")
SCORES = ("random", "el2n", "grand", "forgetting", "dynunc", "coreset")
QUOTAS = ("none", "uniform", "drop")
RECIPE_KINDS = ("paper", "fast")
PRECISIONS = ("auto", "fp32", "bf16")
