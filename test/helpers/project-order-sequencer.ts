import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Long files first, so that no long file starts last and runs alone while the other workers idle. */
const PROJECT_ORDER = ['temporal', 'ledger', 'unit'];

/**
 * Vitest's own order (failed first, then longest by the results cache, or largest on a fresh clone),
 * with the projects in the order above instead of by name: the temporal project's files run for
 * tens of seconds each, the unit project's for one or two, and fill the end of the run.
 */
export default class ProjectOrderSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (s: TestSpecification) => {
      const i = PROJECT_ORDER.indexOf(s.project.name);
      return i < 0 ? PROJECT_ORDER.length : i;
    };
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}
