import tempfile

from cog import BasePredictor, Input, Path
from PIL import Image


class Predictor(BasePredictor):
    def predict(
        self,
        image: Path = Input(description="The picture to turn"),
        angle: int = Input(description="Degrees, counter-clockwise", default=90, ge=0, le=360),
        grayscale: bool = Input(description="Keep the brightness only", default=False),
    ) -> Path:
        with Image.open(image) as picture:
            turned = picture.convert("RGB").rotate(angle, expand=True)
        if grayscale:
            turned = turned.convert("L")
        output = Path(tempfile.mkdtemp()) / "output.png"
        turned.save(output, format="PNG", compress_level=9)
        return output
