// Types of source-stack.js (plain JavaScript, loaded by bin/svcsim.js).
export declare function installSourceStacks(dirUrl: string): void;
