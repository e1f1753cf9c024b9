// The fixture declares vitest's ProvidedContext (`inject('stellaopsPg')`) in its
// global setup module; bring that augmentation into this package's typecheck.
import '@stellaops/test-fixture/global-setup';
