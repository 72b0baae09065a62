"""The bridge room: from a trained float model to a deployable description.

Discretisation (`discretise`), quantisation (`quantise`), NIR writing and
reading (`nir_io`), and the composition of the export and the report. It
imports the model room and the hardware room's types, never the reverse.
"""
