"""voxtext-text: the text side of voxtext — encoders over token ids (any transformers encoder
from a local folder, a compact BERT built from a config), sequence/token/masked-LM heads and
EDA text augmentation, all registered through voxtext's hooks."""
