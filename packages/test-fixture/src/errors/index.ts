export { FixtureConfigError, FixtureError, PortInUseError, ProviderUnavailableError, TemplateBuildError } from './fixture-error.js';
