// `evaluator`: one stage of the fleet as its own process (see `StageMain` and `FleetStage.evaluator`).
import Foundation
import Stages

exit(await StageMain.run(.evaluator))
