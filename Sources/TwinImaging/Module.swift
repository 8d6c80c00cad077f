/// `TwinImaging`: see README.md for this stage's role in the pipeline.
public enum TwinImagingModule {}
