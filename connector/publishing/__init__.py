"""This connector's own catalogue: publishing DCAT-AP descriptions and serving them over DSP."""
