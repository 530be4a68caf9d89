import time
from collections.abc import Iterator

from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(
        self,
        text: str = Input(description="Words to send back", default="one word at a time"),
        delay: float = Input(description="Seconds to wait before each word", default=0, ge=0),
    ) -> Iterator[str]:
        for word in text.split():
            time.sleep(delay)
            yield word
