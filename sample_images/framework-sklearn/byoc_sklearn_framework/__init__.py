"""A scikit-learn framework for SageMaker script mode, shaped like AWS's sagemaker-scikit-learn-container.

training: `train` is sagemaker-training's own console script; SAGEMAKER_TRAINING_MODULE points it at
training.main, which runs the user's script. serving: `serve` starts gunicorn on serving.app, which runs
sagemaker-inference's Transformer with scikit-learn defaults (handler.py).
"""
