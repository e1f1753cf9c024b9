export { FixtureConfigError, FixtureError, PortInUseError, ProviderUnavailableError, ServerStartError, TemplateBuildError } from './fixture-error.js';
