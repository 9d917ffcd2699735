"""The command-line skin: one small module per verb, loaded only when that verb runs."""
